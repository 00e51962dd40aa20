"""The complaint categories with their labels and responsible units (from the routing configuration)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from bot.api.deps import SettingsDep
from bot.tickets.routing import RoutingTable, load_routing
from bot.tickets.vocab import CATEGORY_LABELS, Category

router = APIRouter(prefix="/api/v1", tags=["tickets"])


class CategoryOut(BaseModel):
    code: Category
    label: str
    unit: str


class CategoryList(BaseModel):
    categories: list[CategoryOut]


def _routing(request: Request, settings: SettingsDep) -> RoutingTable:
    routing: RoutingTable | None = getattr(request.app.state, "routing_table", None)
    if routing is None:
        routing = load_routing(settings.tickets_routing_file)
        request.app.state.routing_table = routing
    return routing


@router.get("/categories", response_model=CategoryList)
def categories(request: Request, settings: SettingsDep) -> CategoryList:
    """Public: the same list the citizen chooses from in the chat."""
    routing = _routing(request, settings)
    return CategoryList(
        categories=[
            CategoryOut(code=category, label=CATEGORY_LABELS[category], unit=routing.route(category).unit)
            for category in Category
        ]
    )
