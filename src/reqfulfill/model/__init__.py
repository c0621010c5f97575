"""Domain types: attrs classes, frozen and slotted, with no I/O."""
