"""What ``scripts/package.sh`` checks: the distribution's contents, then a new project.

``python scripts/package_check.py contents DIST_DIR``
``python scripts/package_check.py project PROJECT_DIR PYTHON``
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

WANTED = [
    "history_core/__init__.py",
    "history_core/py.typed",
    "history_core/migrations/0001_initial.py",
    "history_core/templates/admin/history_core/",
    "history_core/static/history_core/",
    "history_core/triggers/postgresql.py",
    "graphql_api/py.typed",
    "graphql_api/templates/",
    "graphql_api/static/graphql_api/",
]
UNWANTED = ("config/", "catalog/", "tests/", "bench/", "examples/", "scripts/")


def _check(names: list[str], where: str) -> None:
    for wanted in WANTED:
        if not any(name.startswith(wanted) for name in names):
            sys.exit(f"{where}: {wanted} is missing")
    for name in names:
        if name.startswith(UNWANTED):
            sys.exit(f"{where}: {name} should not be there")
    print(f"{where}: {len(names)} files, as expected")


def contents(dist: Path) -> None:
    wheel = next(dist.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    _check(names, wheel.name)
    metadata = next(n for n in names if n.endswith("dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    requires = re.findall(r"^Requires-Dist: (.*)$", text, re.MULTILINE)
    plain = [r for r in requires if "extra ==" not in r]
    if [r.split(">")[0].split("<")[0].strip() for r in plain] != ["Django"]:
        sys.exit(f"the library should need Django alone, not {plain}")
    if "License-Expression: BSD-3-Clause" not in text:
        sys.exit("no BSD-3-Clause licence in the metadata")
    sdist = next(dist.glob("*.tar.gz"))
    with tarfile.open(sdist) as archive:
        inside = [
            m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name
        ]
    _check(inside, sdist.name)
    if "LICENSE" not in inside:
        sys.exit(f"{sdist.name}: LICENSE is missing")


MODELS = """from django.db import models

from history_core import HistoricalRecords


class Product(models.Model):
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=10, decimal_places=2)

    history = HistoricalRecords()

    def __str__(self):
        return self.name
"""

SCRIPT = """
import json
from django.contrib.auth.models import User
from django.test import Client
from django.test.utils import setup_test_environment
from history_core import context
from shop.models import Product

with context(reason="first price"):
    product = Product.objects.create(name="Lamp", price="10.00")
product.price = "12.50"
product._change_reason = "price rise"
product.save()
versions = list(product.history.order_by("history_date"))
assert [str(v.price) for v in versions] == ["10.00", "12.50"], versions
assert [v.history_change_reason for v in versions] == ["first price", "price rise"]
assert product.history.as_of(versions[0].history_date).price == versions[0].price

setup_test_environment()  # the test client's host, allowed
admin = User.objects.create_superuser("admin", "admin@example.com", "a-long-pass-123")
client = Client()
client.force_login(admin)
answer = client.post(
    "/graphql/",
    json.dumps({"query": "{ trackedModels { label } }"}),
    content_type="application/json",
)
assert answer.status_code == 200, answer.content[:2000]
labels = [m["label"] for m in answer.json()["data"]["trackedModels"]]
assert "shop.Product" in labels, labels
print("history and GraphQL answer from the installed package")
"""


def project(root: Path, python: str) -> None:
    def manage(*args: str) -> None:
        subprocess.run([python, "manage.py", *args], cwd=root, check=True)  # noqa: S603

    manage("startapp", "shop")
    (root / "shop" / "models.py").write_text(MODELS)
    settings = root / "mysite" / "settings.py"
    text = settings.read_text()
    text = text.replace(
        "INSTALLED_APPS = [",
        'INSTALLED_APPS = [\n    "shop",\n    "history_core",\n    "graphql_api",',
    )
    text = text.replace(
        '    "django.contrib.auth.middleware.AuthenticationMiddleware",\n',
        '    "django.contrib.auth.middleware.AuthenticationMiddleware",\n'
        '    "history_core.middleware.HistoryContextMiddleware",\n',
    )
    # Failed logins throttled, as the README's "Login throttling" says.
    text += (
        '\nAUTHENTICATION_BACKENDS = ["graphql_api.throttle.ThrottledModelBackend"]\n'
    )
    settings.write_text(text)
    urls = root / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text()
        + "\nfrom django.urls import include  # noqa: E402\n\n"
        + 'urlpatterns += [path("", include("graphql_api.urls"))]\n'
    )
    manage("check", "--fail-level", "WARNING")
    manage("makemigrations", "shop")
    manage("migrate", "-v", "0")
    manage("history_triggers", "--check")
    manage("shell", "-c", SCRIPT)


if __name__ == "__main__":
    if sys.argv[1] == "contents":
        contents(Path(sys.argv[2]))
    else:
        project(Path(sys.argv[2]), sys.argv[3])
