from django.db import migrations

from tests.migrapp import writes


class Migration(migrations.Migration):
    dependencies = [("migrapp", "0001_initial")]
    operations = [migrations.RunPython(writes.write_2, migrations.RunPython.noop)]
