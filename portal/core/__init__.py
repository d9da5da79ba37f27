"""What every capability uses. Imports no capability."""
