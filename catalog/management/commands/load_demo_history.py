"""Load a realistic demo history: users, reasons, updates, a delete and a revert."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction

import history_core
from catalog.models import Category, Product

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - documented demo credential


class Command(BaseCommand):
    help = "Create demo users and a catalog with a realistic history (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            editor, auditor = self._users()
            if Product.history.exists():
                self.stdout.write("Demo history already loaded.")
                return
            self._story(editor, auditor)
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {Product.history.count()} product and "
                f"{Category.history.count()} category versions. Log in as "
                f"'editor' / '{DEMO_PASSWORD}' (may revert) or 'auditor' (read only)."
            )
        )

    def _users(self) -> tuple[Any, Any]:
        User = get_user_model()  # noqa: N806
        view = Permission.objects.filter(codename__in=["view_product", "view_category"])
        change = Permission.objects.filter(
            codename__in=[
                "change_product",
                "change_category",
                "add_product",
                "add_category",
            ]
        )
        editor = self._staff_user(User, "editor")
        editor.user_permissions.add(*view, *change)
        auditor = self._staff_user(User, "auditor")
        auditor.user_permissions.add(*view)
        return editor, auditor

    def _staff_user(self, User: Any, username: str) -> Any:  # noqa: N803
        """The demo user, staff (the admin lets them in), with the demo password."""
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(DEMO_PASSWORD)
        user.is_staff = True
        user.save()
        return user

    def _story(self, editor: Any, auditor: Any) -> None:
        with history_core.context(user=editor, reason="Initial catalog import"):
            computers = Category.objects.create(name="Computers", description="Laptops")
            audio = Category.objects.create(name="Audio")
            laptop = Product.objects.create(
                name="Laptop",
                price=Decimal("1200.00"),
                description="Powerful computing",
                category=computers,
            )
            headphones = Product.objects.create(
                name="Headphones", price=Decimal("199.00"), category=audio
            )
            cable = Product.objects.create(name="USB cable", price=Decimal("9.90"))
        with history_core.context(user=editor, reason="Black Friday pricing"):
            laptop.price = Decimal("1150.00")
            laptop.save()
            headphones.price = Decimal("149.00")
            headphones.save()
        with history_core.context(user=editor, reason="Copy edit", ticket="CAT-42"):
            laptop.description = "Sleek and powerful computing"
            laptop.save()
            computers.description = "Laptops and desktops"
            computers.save()
        with history_core.context(user=editor, reason="Discontinued"):
            cable.delete()
        with history_core.context(user=editor, reason="Price error"):
            headphones.price = Decimal("14.90")
            headphones.save()
        mistake = headphones.history.latest()
        mistake.prev_record.revert(user=editor, reason="Undo price error")
        with history_core.context(user=editor, reason="Category-wide price cut"):
            Product.objects.filter(category=computers).update(price=Decimal("1099.00"))
