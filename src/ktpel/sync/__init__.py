"""Office ↔ central sync: signed, sealed packets in; signed events out; outage state in between."""
