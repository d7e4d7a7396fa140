"""Every table of ktpel on one metadata; each capability keeps its tables in its own module here."""

from ktpel.store.schema.base import Base, metadata  # noqa: F401
from ktpel.store.schema import core  # noqa: F401
from ktpel.store.schema import security  # noqa: F401
from ktpel.store.schema import notify  # noqa: F401
from ktpel.store.schema import enrollment  # noqa: F401
from ktpel.store.schema import central  # noqa: F401
from ktpel.store.schema import reports  # noqa: F401
from ktpel.store.schema import sync  # noqa: F401
from ktpel.store.schema import printing  # noqa: F401
from ktpel.store.schema import blocking  # noqa: F401
from ktpel.store.schema import suket  # noqa: F401
from ktpel.store.schema import ikd  # noqa: F401
from ktpel.store.schema import loans  # noqa: F401
from ktpel.store.schema import outcomes  # noqa: F401
from ktpel.store.schema import kit  # noqa: F401
from ktpel.store.schema import office_duplicates  # noqa: F401
