"""egov — an open platform for a provincial government's e-government work."""
