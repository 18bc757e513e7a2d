from django.db import migrations

from tests.migrapp import writes


class Migration(migrations.Migration):
    dependencies = [("migrapp", "0003_rename_field")]
    operations = [migrations.RunPython(writes.write_4, migrations.RunPython.noop)]
