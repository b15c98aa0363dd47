/**
 * Flow files: loading (YAML with line numbers), static checking, the registry of loaded versions and the
 * Mermaid diagram. The flow language itself is described in docs/FLOWS.md and flows/flow.schema.json.
 */
export { type CheckOptions, checkFile, checkFlow, expectedFromFileName } from './check.js';
export { type DiagramOptions, flowDiagram } from './diagram.js';
export {
  type Diagnostic,
  displayPath,
  FlowError,
  formatDiagnostic,
  type ParsedFlow,
  parseFlowText,
  readFlowFile,
  schemaDiagnostics,
} from './load.js';
export { FlowRegistry, flowFiles, loadFlowFile, type RegistryOptions } from './registry.js';
