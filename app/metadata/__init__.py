"""Metadata: YAML object definitions loaded into typed models."""

from app.metadata.loader import MetadataError, MetadataProblem, load_registry
from app.metadata.models import FieldDef, ListView, ObjectDef, PageLayout
from app.metadata.registry import Registry

__all__ = [
    "FieldDef",
    "ListView",
    "MetadataError",
    "MetadataProblem",
    "ObjectDef",
    "PageLayout",
    "Registry",
    "load_registry",
]
