"""The scale-out profile: PostgreSQL tracker store, action gateway, the profile's processes."""
