from interop.dci.models import *  # noqa
