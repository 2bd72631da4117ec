"""Collections: the catalog layers with an active version, their extents and queryables."""

from dataclasses import dataclass

from sqlalchemy import BigInteger, Boolean, ColumnElement, Date, Float, cast, func, select
from sqlalchemy.orm import Session

from app.catalog import AttributeSpec, LayerSpec, catalog, get_layer_spec
from app.errors import NotFound
from app.publish.cql import Queryable
from app.publish.ogc.crs import offered_crs
from app.store import layers as store
from app.store.catalog_epoch import EpochCache
from app.store.models import Feature, LayerVersion

# Geometry measure column and its label per geometry type (points have none).
_CASTS = {"integer": BigInteger, "number": Float, "boolean": Boolean, "date": Date}


@dataclass(frozen=True)
class Collection:
    """One layer's active version as an OGC collection."""

    spec: LayerSpec
    version: LayerVersion
    extent: tuple[float, float, float, float] | None

    @property
    def crs(self) -> list[str]:
        """URIs of the CRSs offered for this collection."""
        return offered_crs(self.extent)

    @property
    def measure(self) -> str | None:
        """The measure property (area_m2 or length_m), if the geometry type has one."""
        return self.spec.measure.column if self.spec.measure else None

    @property
    def property_names(self) -> list[str]:
        """Catalog attributes, then the measure."""
        names = [a.name for a in self.spec.attributes]
        return [*names, self.measure] if self.measure else names


def _extents(session: Session, version_ids: list[int]) -> dict[int, tuple[float, ...]]:
    box = func.ST_Extent(Feature.geom)
    rows = session.execute(
        select(
            Feature.version_id,
            func.ST_XMin(box),
            func.ST_YMin(box),
            func.ST_XMax(box),
            func.ST_YMax(box),
        )
        .where(Feature.version_id.in_(version_ids))
        .group_by(Feature.version_id)
    ).all()
    return {r[0]: tuple(round(v, 7) for v in r[1:]) for r in rows}


def all_collections(session: Session) -> list[Collection]:
    """Every catalog layer with an active version, in catalog id order."""
    versions = store.active_versions(session)
    extents = _extents(session, [v.id for v in versions.values()])
    specs = catalog()
    return [
        Collection(specs[layer_id], version, extents.get(version.id))
        for layer_id, version in sorted(versions.items())
    ]


# Collection id → its Collection (or None) under the catalog epoch: an items page then needs
# no round trip for the layer, its version and its extent (a scan of the whole version).
_collections = EpochCache(max_items=256)


def _load_collection(session: Session, spec: LayerSpec) -> Collection | None:
    _, layer = store.get_layer(session, spec.id)
    version = store.active_version(session, layer)
    if version is None:
        return None
    # Detached: a rollback of this session must not expire the copy other requests read.
    session.expunge(version)
    return Collection(spec, version, _extents(session, [version.id]).get(version.id))


def get_collection(session: Session, collection_id: str) -> Collection:
    """One collection; unknown layers and layers without an active version are 404."""
    spec = get_layer_spec(collection_id)
    found = _collections.get_or_compute(
        session, collection_id, lambda: _load_collection(session, spec)
    )
    if found is None:
        raise NotFound(f"Layer {collection_id} has no active version yet: import data first.")
    return found


def _attribute_column(attribute: AttributeSpec) -> ColumnElement:
    """attributes->>'name', cast to the catalog type so comparisons are typed."""
    text_value = Feature.attributes[attribute.name].astext
    sql_type = _CASTS.get(attribute.type)
    return cast(text_value, sql_type) if sql_type else text_value


# Layer spec → its queryables: the SQL expressions are built once per spec, not per request.
_queryables: dict[int, tuple[LayerSpec, dict[str, Queryable]]] = {}


def queryables(collection: Collection) -> dict[str, Queryable]:
    """The filterable properties: catalog attributes and the measure."""
    spec = collection.spec
    cached = _queryables.get(id(spec))
    if cached is not None and cached[0] is spec:
        return cached[1]
    found = {a.name: Queryable(a.name, a.type, _attribute_column(a)) for a in spec.attributes}
    if collection.measure:
        found[collection.measure] = Queryable(
            collection.measure, "number", getattr(Feature, collection.measure)
        )
    _queryables[id(spec)] = (spec, found)
    return found
