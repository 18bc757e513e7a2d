"""The demo catalog in the admin, with its history pages."""

from django.contrib import admin

from history_core.admin import HistoryAdmin

from .models import Category, Product


@admin.register(Category)
class CategoryAdmin(HistoryAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Product)
class ProductAdmin(HistoryAdmin):
    list_display = ["name", "price", "category"]
    list_filter = ["category"]
    search_fields = ["name"]
