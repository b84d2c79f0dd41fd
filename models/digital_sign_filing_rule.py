import re

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain

from odoo.addons.dms.tools.file import unique_name


class DigitalSignFilingRule(models.Model):
    """Where the signed copy of a completed document is filed: a folder of OCA ``dms``.

    The first active rule that matches a document (see ``digital.sign.rule.mixin``) files
    its signed PDF, with its certificate of completion, as a ``dms.file`` in ``directory_id``,
    or in a sub-folder of it per customer, made on the fly. Who may browse the folder is the
    business of dms's access groups, set on the folder: filing itself runs as the superuser
    (``_get_target_directory`` and the request's ``_file_signed_copy``), after checking that
    the folder belongs to the document's company.
    """

    _name = "digital.sign.filing.rule"
    _description = "Filing Rule for Signed Documents"
    _inherit = ["digital.sign.rule.mixin"]
    _order = "sequence, id"

    # === FIELDS === #
    directory_id = fields.Many2one(
        "dms.directory",
        string="Folder",
        index="btree_not_null",
        ondelete="set null",
        help="The document folder signed copies are filed in. When the folder is deleted, "
        "the rule still matches, and filing fails (the owner is told) until a folder is set.",
    )
    customer_subfolder = fields.Boolean(
        "Sub-folder per Customer",
        help="File each customer's documents in a sub-folder of the folder, named after the "
        "customer's company and made on first use.",
    )

    # === CONSTRAINTS === #
    @api.constrains("directory_id", "company_id")
    def _check_directory(self):
        for rule in self.filtered("directory_id"):
            directory_sudo = rule.directory_id.sudo()
            if directory_sudo.storage_id.save_type == "attachment":
                raise ValidationError(
                    self.env._(
                        "%(folder)s keeps its files as attachments of records: choose a folder "
                        "of a storage that keeps files in the database or the filestore.",
                        folder=directory_sudo.complete_name,
                    )
                )
            if directory_sudo.company_id not in (rule.company_id, self.env["res.company"]):
                raise ValidationError(
                    self.env._(
                        "%(folder)s belongs to another company than the rule %(rule)s.",
                        folder=directory_sudo.complete_name,
                        rule=rule.name,
                    )
                )

    # === BUSINESS === #
    def _get_target_directory(self, request):
        """The folder ``request``'s signed copy goes to under this rule: the rule's folder,
        or its sub-folder for the request's customer, made now when missing (sudo).

        Raises a UserError that says what to fix when the folder is gone or belongs to
        another company: the caller records it and tells the document's owner.

        :param request: a digital.sign.request
        :return: a dms.directory (sudo)
        Note: self.ensure_one()
        """
        self.ensure_one()
        directory_sudo = self.sudo().directory_id.exists()
        if not directory_sudo:
            raise UserError(
                self.env._(
                    "The filing rule %s has no folder (it was deleted): choose one.", self.name
                )
            )
        if directory_sudo.company_id not in (request.company_id, self.env["res.company"]):
            raise UserError(
                self.env._(
                    "The folder %(folder)s of the filing rule %(rule)s belongs to another company.",
                    folder=directory_sudo.complete_name,
                    rule=self.name,
                )
            )
        customer = request.sudo().partner_id.commercial_partner_id
        if not self.customer_subfolder or not customer:
            return directory_sudo
        return self._get_customer_subfolder(directory_sudo, customer)

    def _get_customer_subfolder(self, directory_sudo, customer):
        """The sub-folder of ``directory_sudo`` that holds ``customer``'s documents; made now
        (it inherits the folder's access groups) when there is none.

        A sub-folder is tied to its customer (``res_model``/``res_id``), so that renaming
        the customer, or two customers of the same name, never mix their documents.

        :param directory_sudo: a dms.directory (sudo)
        :param customer: a res.partner (a commercial entity)
        :return: a dms.directory (sudo)
        """
        Directory = self.env["dms.directory"].sudo()
        domain = (
            Domain("parent_id", "=", directory_sudo.id)
            & Domain("res_model", "=", "res.partner")
            & Domain("res_id", "=", customer.id)
        )
        subfolder = Directory.search(domain, limit=1)
        if subfolder:
            return subfolder
        # dms refuses "/" and the like in names, and two siblings with one name.
        name = re.sub(r"[\\/\x00]+", "-", customer.display_name).strip() or str(customer.id)
        name = unique_name(name, directory_sudo.child_directory_ids.mapped("name"))
        return Directory.create(
            {
                "name": name,
                "parent_id": directory_sudo.id,
                "is_root_directory": False,
                "inherit_group_ids": True,
                "res_model": "res.partner",
                "res_id": customer.id,
            }
        )
