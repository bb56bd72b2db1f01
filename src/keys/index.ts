export { isKey } from './validate.js';
