from odoo import api, models
from odoo.exceptions import AccessError

# The review fields a user may change on a signature document's review, and how.
GUARDED_MODELS = ("digital.sign.request",)


class TierReview(models.Model):
    """Reviews of signature documents are written by the flow only.

    base_tier_validation lets every internal user create, change and delete any
    ``tier.review`` (its ACL gives base.group_user full rights): through the external API a
    salesperson could mark their own document's review approved, create an approved review,
    or delete the reviews. For signature documents the request itself creates, decides and
    deletes reviews on ``sudo()`` recordsets after checking who acts; from anyone else only
    the two writes base_tier_validation makes as the user are accepted: a waiting review
    becoming pending (its turn came), and a reviewer's own comment on an open review (the
    comment wizard writes it just before the decision).
    """

    _inherit = "tier.review"

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(vals.get("model") in GUARDED_MODELS for vals in vals_list):
            raise AccessError(
                self.env._("Reviews of signature documents are created by the approval flow only.")
            )
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._digital_sign_check_user_write(vals)
        return super().write(vals)

    def unlink(self):
        # pylint: disable=no-raise-unlink  # reviews are evidence: only the flow removes them
        if not self.env.su and self._digital_sign_guarded():
            raise AccessError(
                self.env._("Reviews of signature documents are removed by the approval flow only.")
            )
        return super().unlink()

    # === BUSINESS === #
    def _digital_sign_guarded(self):
        return self.filtered(lambda r: r.model in GUARDED_MODELS)

    def _digital_sign_check_user_write(self, vals):
        """Refuse a user's write on a signature document's review, except the promotion
        of a waiting review to pending and a reviewer's comment on their open review."""
        guarded = self._digital_sign_guarded()
        if not guarded:
            if vals.get("model") in GUARDED_MODELS:
                raise AccessError(
                    self.env._(
                        "Reviews of signature documents are written by the approval flow only."
                    )
                )
            return
        keys = set(vals)
        if (
            keys == {"status"}
            and vals["status"] == "pending"
            and all(review.status in ("waiting", "pending") for review in guarded)
        ):
            return
        if keys == {"comment"} and all(
            review.status in ("waiting", "pending") and self.env.user in review.reviewer_ids
            for review in guarded
        ):
            return
        raise AccessError(
            self.env._(
                'Reviews of signature documents are decided through "Validate" or "Reject" '
                "by their reviewers only."
            )
        )
