// OCA's eslint configuration (oca-addons-repo-template, Odoo >= 18): the rules that fail a
// commit ("error"); OCA's many "warn" rules only print and are left out. Odoo 19 loads tours
// (static/tests/**/*.js) as ES modules too, so they are parsed as modules like *.esm.js.
const globals = require("globals");
const jsdoc = require("eslint-plugin-jsdoc");

module.exports = [
  {
    plugins: {jsdoc},
    languageOptions: {
      globals: {
        _: "readonly",
        $: "readonly",
        fuzzy: "readonly",
        jQuery: "readonly",
        moment: "readonly",
        odoo: "readonly",
        openerp: "readonly",
        owl: "readonly",
        luxon: "readonly",
        ...globals.browser,
      },
      ecmaVersion: 2024,
      sourceType: "script",
    },
    rules: {
      "init-declarations": "error",
      "no-cond-assign": "error",
      "no-const-assign": "error",
      "no-debugger": "error",
      "no-dupe-args": "error",
      "no-dupe-class-members": "error",
      "no-dupe-keys": "error",
      "no-duplicate-case": "error",
      "no-duplicate-imports": "error",
      "no-empty-function": "error",
      "no-empty-pattern": "error",
      "no-eq-null": "error",
      "no-eval": "error",
      "no-ex-assign": "error",
      "no-func-assign": "error",
      "no-global-assign": "error",
      "no-lonely-if": "error",
      "no-mixed-requires": "error",
      "no-native-reassign": "error",
      "no-negated-in-lhs": "error",
      "no-return-assign": "error",
      "no-undef": "error",
      "no-unneeded-ternary": "error",
      "no-unreachable": "error",
      "no-unsafe-finally": "error",
      "no-unused-expressions": "error",
      "no-unused-labels": "error",
      "no-unused-vars": "error",
      "no-use-before-define": "error",
      "operator-assignment": ["error", "always"],
      "spaced-comment": ["error", "always"],
      strict: ["error", "function"],
      "use-isnan": "error",
      "jsdoc/check-tag-names": "warn",
      "jsdoc/check-types": "warn",
    },
  },
  {
    files: ["**/*.esm.js", "static/tests/**/*.js"],
    languageOptions: {ecmaVersion: 2024, sourceType: "module"},
  },
  {
    files: ["*.cjs"],
    languageOptions: {globals: {...globals.node}, sourceType: "commonjs"},
  },
  {ignores: [".venv/**", ".run/**", "bench/**", "static/lib/**"]},
];
