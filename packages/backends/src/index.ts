export { backendProblems } from "./backend-problems.js";
export { createBackend } from "./create-backend.js";
