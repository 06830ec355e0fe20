export { captureOutput, type OutputCapture } from '../../support/output-capture';
