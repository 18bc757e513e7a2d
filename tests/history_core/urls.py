"""A test-only URLconf: views that change a product, so the middleware is exercised."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path

from catalog.models import Product


def rename(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename product ``pk`` to the ``name`` POST parameter."""
    product = Product.objects.get(pk=pk)
    product.name = request.POST["name"]
    product.save()
    return HttpResponse("ok")


async def rename_async(request: HttpRequest, pk: int) -> HttpResponse:
    """The async flavour of :func:`rename`."""
    product = await Product.objects.aget(pk=pk)
    product.name = request.POST["name"]
    await sync_to_async(product.save)()
    return HttpResponse("ok")


urlpatterns = [
    path("rename/<int:pk>/", rename),
    path("rename-async/<int:pk>/", rename_async),
    # Any path at all after the id: what the middleware records must never break
    # the request's writes.
    re_path(r"^rename-any/(?P<pk>[0-9]+)/", rename),
]
