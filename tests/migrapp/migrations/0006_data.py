from django.db import migrations

from tests.migrapp import writes


class Migration(migrations.Migration):
    dependencies = [("migrapp", "0005_rename_model")]
    operations = [migrations.RunPython(writes.write_6, migrations.RunPython.noop)]
