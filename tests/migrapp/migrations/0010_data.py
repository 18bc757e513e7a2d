from django.db import migrations

from tests.migrapp import writes


class Migration(migrations.Migration):
    dependencies = [("migrapp", "0009_untrack_gadget")]
    operations = [migrations.RunPython(writes.write_10, migrations.RunPython.noop)]
