"""reqfulfill: the fulfillment logic of IT service request management."""
