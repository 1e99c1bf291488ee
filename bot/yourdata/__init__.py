"""The your-data room: /export, /forget and /privacy."""
