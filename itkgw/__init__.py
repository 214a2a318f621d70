"""itkgw: a per-user web gateway in the mpm-itk process model."""

__version__ = "0.1.0"
SERVER_SOFTWARE = f"itkgw/{__version__}"
