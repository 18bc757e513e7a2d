from django.db import migrations

from tests.migrapp import writes


class Migration(migrations.Migration):
    dependencies = [("migrapp", "0007_alter_table")]
    operations = [migrations.RunPython(writes.write_8, migrations.RunPython.noop)]
