import * as z from 'zod';

/**
 * CML's REST answers as LCM checks them (contract in shared/reference/cml-api.md). Loose: CML
 * adds fields between versions; only what LCM reads is checked.
 */

export const CmlSystemInformationSchema = z.looseObject({
  version: z.string().nullish(),
  ready: z.boolean(),
  allow_ssh_pubkey_auth: z.boolean().nullish(),
  oui: z.string().nullish(),
});

export const CmlLabStateSchema = z.string().min(1);

export const CmlLabSchema = z.looseObject({
  id: z.string(),
  lab_title: z.string().nullish(),
  state: z.string().nullish(),
  node_count: z.number().nullish(),
  link_count: z.number().nullish(),
  owner: z.string().nullish(),
  owner_username: z.string().nullish(),
  created: z.string().nullish(),
  modified: z.string().nullish(),
});
export type CmlLab = z.infer<typeof CmlLabSchema>;

const ConfigFileSchema = z.looseObject({ name: z.string().nullish(), content: z.string().nullish() });
/** `configuration` is a list of files in 2.7+, a plain string in older servers, or null. */
const ConfigurationSchema = z.union([z.string(), z.array(ConfigFileSchema)]).nullish();

export const CmlNodeOperationalSchema = z.looseObject({
  cpus: z.number().nullish(),
  ram: z.number().nullish(),
  cpu_limit: z.number().nullish(),
  boot_disk_size: z.number().nullish(),
  data_volume: z.number().nullish(),
  compute_id: z.string().nullish(),
  image_definition: z.string().nullish(),
  resource_pool: z.string().nullish(),
  serial_consoles: z.array(z.unknown()).nullish(),
});

export const CmlNodeInfoSchema = z.looseObject({
  id: z.string(),
  lab_id: z.string().nullish(),
  label: z.string(),
  node_definition: z.string(),
  state: z.string().nullish(),
  boot_progress: z.string().nullish(),
  cpus: z.number().nullish(),
  ram: z.number().nullish(),
  cpu_limit: z.number().nullish(),
  tags: z
    .array(z.string())
    .nullish()
    .transform((t) => t ?? []),
  configuration: ConfigurationSchema,
  operational: CmlNodeOperationalSchema.nullish(),
});
export type CmlNodeInfo = z.infer<typeof CmlNodeInfoSchema>;

export const CmlInterfaceInfoSchema = z.looseObject({
  id: z.string(),
  lab_id: z.string().nullish(),
  node: z.string().nullish(),
  label: z.string().nullish(),
  slot: z.number().nullish(),
  type: z.string().nullish(),
  mac_address: z.string().nullish(),
  is_connected: z.boolean().nullish(),
  state: z.string().nullish(),
  operational: z
    .looseObject({
      device_name: z.string().nullish(),
      mac_address: z.string().nullish(),
      src_udp_port: z.number().nullish(),
      dst_udp_port: z.number().nullish(),
    })
    .nullish(),
});
export type CmlInterfaceInfo = z.infer<typeof CmlInterfaceInfoSchema>;

export const CmlLayer3AddressesSchema = z.record(
  z.string(),
  z.looseObject({
    name: z.string().nullish(),
    interfaces: z
      .record(
        z.string(),
        z.looseObject({
          id: z.string().nullish(),
          label: z.string().nullish(),
          ip4: z.array(z.string()).nullish(),
          ip6: z.array(z.string()).nullish(),
        }),
      )
      .nullish(),
  }),
);
export type CmlLayer3Addresses = z.infer<typeof CmlLayer3AddressesSchema>;

export const CmlSimulationStatsSchema = z.looseObject({
  nodes: z
    .record(
      z.string(),
      z.looseObject({
        cpu_usage: z.number().nullish(),
        ram_usage: z.number().nullish(),
        disk_usage: z.number().nullish(),
        block0_wr_bytes: z.number().nullish(),
        block0_rd_bytes: z.number().nullish(),
        times: z.record(z.string(), z.number()).nullish(),
      }),
    )
    .nullish()
    .transform((n) => n ?? {}),
  links: z
    .record(z.string(), z.looseObject({}))
    .nullish()
    .transform((l) => l ?? {}),
});
export type CmlSimulationStats = z.infer<typeof CmlSimulationStatsSchema>;

const StatsTripleSchema = z.looseObject({
  used: z.number().nullish(),
  free: z.number().nullish(),
  total: z.number().nullish(),
});

export const CmlSystemStatsSchema = z.looseObject({
  computes: z
    .record(
      z.string(),
      z.looseObject({
        hostname: z.string().nullish(),
        is_controller: z.boolean().nullish(),
        stats: z
          .looseObject({
            cpu: z.looseObject({ count: z.number().nullish(), percent: z.number().nullish() }).nullish(),
            memory: StatsTripleSchema.nullish(),
            disk: StatsTripleSchema.nullish(),
            dominfo: z
              .looseObject({
                total_nodes: z.number().nullish(),
                running_nodes: z.number().nullish(),
                allocated_cpus: z.number().nullish(),
                allocated_memory: z.number().nullish(),
              })
              .nullish(),
          })
          .nullish(),
      }),
    )
    .nullish()
    .transform((c) => c ?? {}),
  all: z
    .looseObject({
      cpu: z.looseObject({ count: z.number().nullish(), percent: z.number().nullish() }).nullish(),
      memory: StatsTripleSchema.nullish(),
      disk: StatsTripleSchema.nullish(),
    })
    .nullish(),
});
export type CmlSystemStats = z.infer<typeof CmlSystemStatsSchema>;

export const CmlSystemHealthSchema = z.looseObject({
  valid: z.boolean().nullish(),
  is_licensed: z.boolean().nullish(),
  is_enterprise: z.boolean().nullish(),
  computes: z.record(z.string(), z.unknown()).nullish(),
  controller: z.unknown().optional(),
});
export type CmlSystemHealth = z.infer<typeof CmlSystemHealthSchema>;

export const CmlLicensingSchema = z.looseObject({
  registration: z.looseObject({ status: z.string().nullish() }).nullish(),
  authorization: z.looseObject({ status: z.string().nullish() }).nullish(),
  product_license: z
    .looseObject({ active: z.string().nullish(), is_enterprise: z.boolean().nullish() })
    .nullish(),
  features: z.array(z.unknown()).nullish(),
});
export type CmlLicensing = z.infer<typeof CmlLicensingSchema>;

/** `POST /authenticate`: a bare JSON string. */
export const CmlTokenSchema = z.string().min(1);
/** `GET /labs`: lab ids. */
export const CmlLabIdsSchema = z.array(z.string());
/**
 * `GET /node_definitions` and `GET /image_definitions`: arrays of objects, read leniently (the
 * catalogue's rules pick the fields: catalogue/rules/node-definitions.ts).
 */
export const CmlDefinitionListSchema = z.array(z.looseObject({ id: z.string().min(1) }));
export type CmlDefinitionList = z.infer<typeof CmlDefinitionListSchema>;
/** `POST /import`: the new lab's id and CML's warnings (null in some servers). */
export const CmlImportAnswerSchema = z.looseObject({
  id: z.string().min(1),
  warnings: z.array(z.unknown()).nullish(),
});
/** `GET /labs/{id}/check_if_converged`. */
export const CmlConvergedSchema = z.boolean();

/** Normalises `configuration` (string | [{name, content}] | null) to a list of files. */
export function configurationFiles(
  configuration: CmlNodeInfo['configuration'],
): Array<{ name: string; content: string }> {
  if (configuration == null) return [];
  if (typeof configuration === 'string') return [{ name: 'Main', content: configuration }];
  return configuration
    .filter((f) => typeof f.content === 'string')
    .map((f) => ({ name: f.name ?? 'Main', content: f.content as string }));
}
