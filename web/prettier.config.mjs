// Prettier for the same files as ESLint (web/eslint.config.mjs); the width is the Python code's (ruff).
export default {
  printWidth: 110,
};
