"""What the audit log shows of one change, whichever record it comes from."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Change:
    field: str
    before: str
    after: str


@dataclass
class Entry:
    when: datetime
    who: str
    action: str
    model: str
    model_key: str
    object_name: str
    object_id: int
    reason: str = ""
    changes: list[Change] = field(default_factory=list)
    url: str = ""  # where the changed thing is shown (a case's page)
