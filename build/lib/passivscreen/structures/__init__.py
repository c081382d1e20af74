"""Structures: bulk CsPbBr3, PbBr2-terminated (001) slabs, binding sites and faces."""

from passivscreen.structures.bulk import FORMAL_CHARGES, cubic_bulk, formal_charge
from passivscreen.structures.errors import SlabError
from passivscreen.structures.sites import (
    FACES,
    SITE_TYPES,
    SiteSlab,
    distinct_surface_sites,
    face_tuple,
    parse_site,
    pdos_groups,
    site_labels,
    site_rotation_order,
    site_slab,
    surface_pb_indices,
)
from passivscreen.structures.slab import LAYER_TOL, SlabSpec, build_slab, layer_indices

__all__ = [
    "FACES",
    "FORMAL_CHARGES",
    "LAYER_TOL",
    "SITE_TYPES",
    "SiteSlab",
    "SlabError",
    "SlabSpec",
    "build_slab",
    "cubic_bulk",
    "distinct_surface_sites",
    "face_tuple",
    "formal_charge",
    "layer_indices",
    "parse_site",
    "pdos_groups",
    "site_labels",
    "site_rotation_order",
    "site_slab",
    "surface_pb_indices",
]
