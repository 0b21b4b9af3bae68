from interop.dci.tasks import *  # noqa
