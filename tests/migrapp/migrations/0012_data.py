from django.db import migrations

from tests.migrapp import writes


class Migration(migrations.Migration):
    dependencies = [("migrapp", "0011_delete_doohickey")]
    operations = [migrations.RunPython(writes.write_12, migrations.RunPython.noop)]
