"""fundradar: funding calls that matter to the OECS Commission, found, scored and mailed weekly."""

__version__ = "0.1.0"
