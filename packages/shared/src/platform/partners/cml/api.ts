import type {
  CmlDefinitionList,
  CmlInterfaceInfo,
  CmlLab,
  CmlLayer3Addresses,
  CmlLicensing,
  CmlNodeInfo,
  CmlSimulationStats,
  CmlSystemHealth,
  CmlSystemStats,
} from './wire.ts';

/**
 * The port: the CML calls LCM makes against one worker, in LCM's terms. `CmlClient` (client.ts)
 * implements it over HTTP; tests and the sandbox run it against the CML simulator.
 */

/** `controllerUp: false` means HTTP 502/503 (the controller is still starting): not ready. */
export interface CmlSystemInformation {
  controllerUp: boolean;
  ready: boolean;
  version?: string | undefined;
}

/** Lab states CML reports (any other string is passed through). */
export type CmlLabState = 'DEFINED_ON_CORE' | 'STOPPED' | 'STARTED' | (string & {});

export interface CmlImportResult {
  id: string;
  warnings: string[];
}

export type CmlExtractResult =
  | {
      supported: true;
      /** The main configuration ("Main" file, or all files joined when none is called Main). */
      configuration: string;
      files: Array<{ name: string; content: string }>;
    }
  | {
      supported: false;
      /** CML's 400 description (e.g. node not booted, or its node definition cannot extract). */
      reason: string;
    };

/** Node states in which a node runs. */
export const CML_ACTIVE_NODE_STATES: readonly string[] = ['STARTED', 'QUEUED', 'BOOTED'];
/** The CML calls LCM makes against one worker. */
export interface CmlApi {
  readonly baseUrl: string;
  /** No auth. 502/503 (controller still starting) → `{controllerUp: false, ready: false}`. */
  systemInformation(): Promise<CmlSystemInformation>;
  systemHealth(): Promise<CmlSystemHealth>;
  systemStats(): Promise<CmlSystemStats>;
  licensing(): Promise<CmlLicensing>;
  registerLicense(token: string, opts?: { reregister?: boolean }): Promise<void>;
  /**
   * `DELETE /licensing/deregistration`: 204 → deregistered; 202 → only on the host (`localOnly`),
   * Cisco's side was not reached.
   */
  deregisterLicense(): Promise<{ localOnly: boolean }>;
  /** `GET /node_definitions`: the node definitions this CML offers (raw objects). */
  nodeDefinitions(): Promise<CmlDefinitionList>;
  /** `GET /image_definitions`: the images it has, each naming its node definition. */
  imageDefinitions(): Promise<CmlDefinitionList>;
  /** Lab ids (`showAll` needs an admin user). */
  listLabs(opts?: { showAll?: boolean }): Promise<string[]>;
  /** `POST /import?title=` with the topology YAML; not retried (it is not idempotent). */
  importLab(topologyYaml: string, title?: string): Promise<CmlImportResult>;
  getLab(labId: string): Promise<CmlLab>;
  labState(labId: string): Promise<CmlLabState>;
  startLab(labId: string): Promise<void>;
  checkIfConverged(labId: string): Promise<boolean>;
  stopLab(labId: string): Promise<void>;
  wipeLab(labId: string): Promise<void>;
  /** Needs a stopped and wiped lab. A lab that is already gone (404) → `{deleted: false}`. */
  deleteLab(labId: string): Promise<{ deleted: boolean }>;
  /** Node objects with operational data. */
  listNodes(labId: string): Promise<CmlNodeInfo[]>;
  getNode(labId: string, nodeId: string, opts?: { excludeConfigurations?: boolean }): Promise<CmlNodeInfo>;
  nodeInterfaces(labId: string, nodeId: string): Promise<CmlInterfaceInfo[]>;
  layer3Addresses(labId: string): Promise<CmlLayer3Addresses>;
  simulationStats(labId: string): Promise<CmlSimulationStats>;
  /** 400 (not booted, or extraction unsupported) → `{supported: false}`, not an error. */
  extractConfiguration(labId: string, nodeId: string): Promise<CmlExtractResult>;
}
