"""Model families; importing this module registers every builder."""
