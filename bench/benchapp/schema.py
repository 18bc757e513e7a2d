"""The G1/G2 baseline: a plain strawberry-django list of live ``catalog.Product`` rows."""

from __future__ import annotations

import strawberry
import strawberry_django
from strawberry_django.optimizer import DjangoOptimizerExtension

from catalog.models import Category, Product


@strawberry_django.type(Category)
class CategoryType:
    id: strawberry.auto
    name: strawberry.auto


@strawberry_django.type(Product)
class ProductType:
    id: strawberry.auto
    name: strawberry.auto
    price: strawberry.auto
    description: strawberry.auto
    category: CategoryType | None


@strawberry.type
class Query:
    products: list[ProductType] = strawberry_django.field(pagination=True)


schema = strawberry.Schema(query=Query, extensions=[DjangoOptimizerExtension])
