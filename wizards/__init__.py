from . import digital_sign_request_cancel
from . import digital_sign_request_send
from . import digital_sign_participant_reengage
from . import digital_sign_bulk_send
from . import digital_sign_participant_company_seal
