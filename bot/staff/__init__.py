"""Staff accounts (petugas, supervisor, admin), their units, login sessions and the access rules."""
