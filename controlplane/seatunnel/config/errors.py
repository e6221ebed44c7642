"""Domain errors of the job-config helpers; every one carries a stable UPPER_SNAKE code (see docs/JOB_CONFIGS.md)."""

from __future__ import annotations

from controlplane.errors import DomainError


class JobConfigParseError(DomainError):
    """The text is not valid in its format (or its structure is not a SeaTunnel job); details carry line/column."""

    code = "JOB_CONFIG_PARSE_ERROR"


class JobConfigIncludeForbidden(JobConfigParseError):
    """An HOCON `include` of any form: refused before anything is read (a parse error, so every caller reports it)."""

    code = "JOB_CONFIG_INCLUDE_FORBIDDEN"


class JobConfigVariableUnresolved(JobConfigParseError):
    """A `${name}` the job declares no variable for (details: variable, line, path), or one left without a value."""

    code = "JOB_CONFIG_VARIABLE_UNRESOLVED"


class JobConfigFormatUnsupported(DomainError):
    code = "JOB_CONFIG_FORMAT_UNSUPPORTED"


class JobConfigInvalid(DomainError):
    """Raised by `check()`: details["problems"] lists every problem as a dict (code, path, message, ...)."""

    code = "JOB_CONFIG_INVALID"


class JobTemplateUnknown(DomainError):
    code = "JOB_TEMPLATE_UNKNOWN"


class JobTemplateParamsInvalid(DomainError):
    code = "JOB_TEMPLATE_PARAMS_INVALID"


class JobCatalogVersionUnknown(DomainError):
    code = "JOB_CATALOG_VERSION_UNKNOWN"
