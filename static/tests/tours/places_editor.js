import {registry} from "@web/core/registry";

const PAGE_1 = ".o_ds_pe_page[data-page='1']";

/**
 * A step's run that drags its trigger to a point of page 1, in pixels from the page's top
 * left corner (a negative ``top`` counts from its bottom).
 */
function dropOnPage1({top, left}) {
  return async (helpers) => {
    const {height} = document.querySelector(PAGE_1).getBoundingClientRect();
    await helpers.drag_and_drop(PAGE_1, {
      position: {top: top < 0 ? height + top : top, left},
      relative: true,
    });
  };
}

// Started from Python on a draft document's form, as its owner. The document has three
// places on page 1 (the customer's signature, the customer's date and the cosigner's
// optional signature) and the customer's initials on page 2.
registry.category("web_tour.tours").add("digital_sign_places_editor", {
  steps: () => [
    {
      content: "Open the place editor",
      trigger:
        ".o_form_view .o_statusbar_buttons button[name='action_open_places_editor']",
      run: "click",
    },
    {
      content: "The page image is shown",
      trigger: ".o_ds_pe_page[data-page='1'] img.o_ds_pe_image",
    },
    {
      content: "Every place is drawn, with the count per page and participant",
      trigger: ".o_ds_pe_summary tbody tr:contains(Carl Cosigner)",
    },
    {
      content: "Select the customer's signature",
      trigger: ".o_ds_pe_place.o_ds_pe_kind_signature.o_ds_pe_mandatory",
      run: "click",
    },
    {
      content: "Remove it",
      trigger: ".o_ds_pe_remove",
      run: "click",
    },
    {
      content: "Select the date",
      trigger: ".o_ds_pe_place.o_ds_pe_kind_date",
      run: "click",
    },
    {
      content: "Nudge it one point right",
      trigger: ".o_ds_pe_place.o_ds_pe_kind_date.o_ds_pe_selected",
      run: "press ArrowRight",
    },
    {
      content: "Then ten points down",
      trigger: ".o_ds_pe_place.o_ds_pe_kind_date.o_ds_pe_selected",
      run: "press Shift+ArrowDown",
    },
    {
      content: "Drag the cosigner's signature to the top-left corner of the page",
      trigger: ".o_ds_pe_place.o_ds_pe_kind_signature.o_ds_pe_optional",
      run: dropOnPage1({top: 2, left: 2}),
    },
    {
      content: "Drag the initials from page 2 to the bottom-left corner of page 1",
      trigger: ".o_ds_pe_page[data-page='2'] .o_ds_pe_place.o_ds_pe_kind_initials",
      run: dropOnPage1({top: -2, left: 2}),
    },
    {
      content: "It is on page 1 now",
      trigger:
        ".o_ds_pe_page[data-page='1'] .o_ds_pe_place.o_ds_pe_kind_initials.o_ds_pe_selected",
    },
    {
      content: "Select the cosigner's signature again",
      trigger: ".o_ds_pe_place.o_ds_pe_kind_signature.o_ds_pe_optional",
      run: "click",
    },
    {
      content: "It is selected: make it mandatory",
      trigger: ".o_ds_pe_place.o_ds_pe_kind_signature.o_ds_pe_selected",
    },
    {
      trigger: ".o_ds_pe_props input.o_ds_pe_is_mandatory",
      run: "click",
    },
    {
      content: "Add initials",
      trigger: ".o_ds_pe_add button[data-kind='initials']",
      run: "click",
    },
    {
      content: "in the middle of page 1",
      trigger: ".o_ds_pe_page.o_ds_pe_adding[data-page='1']",
      run: "click",
    },
    {
      content: "The new place is there, selected",
      trigger: ".o_ds_pe_place.o_ds_pe_kind_initials.o_ds_pe_selected.o_ds_pe_new",
    },
    {
      content: "Save",
      trigger: ".o_ds_pe_save:enabled",
      run: "click",
    },
    {
      content: "Saved: nothing left to save, the new place has its id",
      trigger: ".o_ds_pe_save:disabled",
    },
    {
      trigger:
        ".o_ds_pe_page[data-page='1']:not(:has(.o_ds_pe_new)) .o_ds_pe_kind_initials",
    },
    {
      content: "One more nudge of the date, not saved",
      trigger: ".o_ds_pe_place.o_ds_pe_kind_date",
      run: "click",
    },
    {
      trigger: ".o_ds_pe_place.o_ds_pe_kind_date.o_ds_pe_selected",
      run: "press ArrowRight",
    },
    {
      trigger: ".o_ds_pe_save:enabled",
    },
    {
      content: "Leave for the document: the change is saved on the way, like a form",
      trigger: ".o_control_panel button:contains(Document)",
      run: "click",
    },
    {
      trigger:
        ".o_form_view .o_statusbar_buttons button[name='action_open_places_editor']",
    },
  ],
});

// The same editor on a document already sent: places are shown, nothing can change.
registry.category("web_tour.tours").add("digital_sign_places_editor_readonly", {
  steps: () => [
    {
      trigger:
        ".o_form_view .o_statusbar_buttons button[name='action_open_places_editor']",
      run: "click",
    },
    {
      content: "The editor says why nothing can change, and offers no Save",
      trigger: ".o_ds_pe_panel .alert-warning:contains(draft)",
    },
    {
      trigger: ".o_ds_places_editor:not(:has(.o_ds_pe_save)):not(:has(.o_ds_pe_add))",
    },
    {
      content: "Try to drag the customer's signature anyway",
      trigger: ".o_ds_pe_place.o_ds_pe_kind_signature.o_ds_pe_mandatory",
      run: dropOnPage1({top: 2, left: 2}),
    },
    {
      content: "Selected, its properties shown read-only",
      trigger: ".o_ds_pe_props select.o_ds_pe_participant:disabled",
    },
    {
      trigger: ".o_ds_pe_props:not(:has(.o_ds_pe_remove))",
    },
    {
      content: "Leave: nothing to save",
      trigger: ".o_control_panel button:contains(Document)",
      run: "click",
    },
    {
      trigger:
        ".o_form_view .o_statusbar_buttons button[name='action_open_places_editor']",
    },
  ],
});
