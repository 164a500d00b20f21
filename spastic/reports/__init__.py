"""Reports: the physician's PDF visit summary, its context, rendering and storage."""
