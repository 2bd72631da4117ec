"""The industry codes and EIA catalog items an officer may give, as GET /screenings/industries."""

from pydantic import BaseModel

from app.catalog import IndustryCatalog


class IndustryView(BaseModel):
    """One GB/T 4754-2017 code with its level (门类/大类/中类/小类) and rule category."""

    code: str
    name: str
    level: str
    category: str


class EiaItemView(BaseModel):
    """One item of the 建设项目环境影响评价分类管理名录（2021年版）."""

    id: str
    section: str
    name: str
    industry_codes: list[str]
    category: str


class IndustriesView(BaseModel):
    """Every known industry code and EIA item."""

    industries: list[IndustryView]
    eia_items: list[EiaItemView]

    @classmethod
    def of(cls, catalog: IndustryCatalog) -> "IndustriesView":
        """The view of the catalog, codes in the standard's order."""
        return cls(
            industries=[
                IndustryView(code=i.code, name=i.name, level=i.level, category=i.category)
                for i in sorted(catalog.industries.entries.values(), key=lambda i: i.code)
            ],
            eia_items=[
                EiaItemView(
                    id=e.id,
                    section=e.section,
                    name=e.name,
                    industry_codes=e.industries,
                    category=e.category,
                )
                for e in catalog.eia_items.values()
            ],
        )
