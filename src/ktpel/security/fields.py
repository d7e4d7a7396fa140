"""Moved to `ktpel.store.fields` (field encryption belongs to storage; store no longer imports security).

Kept only so branches written before the move still import; delete once nothing imports this path.
"""

from ktpel.store.fields import (  # noqa: F401
    FieldCipher, FieldKeyring, cipher, configure_cipher, name_tokens, write_keyring,
)
