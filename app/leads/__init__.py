"""Lead business actions that span several objects (conversion)."""

from app.leads.convert import Conversion, ConvertOptions, convert_lead

__all__ = ["Conversion", "ConvertOptions", "convert_lead"]
