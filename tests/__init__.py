from . import test_request
from . import test_signing_page
from . import test_provider
from . import test_sale
from . import test_seal
from . import test_verify
from . import test_signing_tours
from . import test_helpdesk
