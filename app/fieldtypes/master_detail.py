"""master_detail: a lookup the record cannot live without; sharing follows the master."""

from __future__ import annotations

from app.fieldtypes.lookup import Lookup


class MasterDetail(Lookup):
    name = "master_detail"
    label = "Master-detail"
    description = "A link to the record this one belongs to"
    delete_behaviors = ("cascade", "restrict")  # set_null would orphan the detail
