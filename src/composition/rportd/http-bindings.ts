// rportd's HTTP API bindings: the Koa app over the use cases and stores, and the record that
// start-up takes from the container. Apart from container.ts to keep each file small.
import { ContainerModule } from 'inversify';
import { createHttpApp } from '../../adapters/http/http-app.ts';
import { provide, provideRecord } from '../shared/typed-wiring.ts';
import type { T as Tokens } from './server-tokens.ts';
import { RevokingCredentialEditor } from './late-bindings.ts';

type ServerTokens = typeof Tokens;

/** The HTTP API, and the record start-up takes. */
export function httpModule(T: ServerTokens): ContainerModule {
  return new ContainerModule(({ bind }) => {
    provide(
      bind,
      T.app,
      [
        T.config,
        T.auth,
        T.accept,
        T.results,
        T.audit,
        T.registry,
        T.groups,
        T.logger,
        T.dbCredentials,
        T.sessions,
        T.dbUsers,
        T.userGroups,
        T.identity,
        T.retry,
        T.dbHealth,
        T.natsHealth,
      ],
      (
        c,
        auth,
        accept,
        results,
        audit,
        registry,
        groups,
        logger,
        credentials,
        sessions,
        users,
        userGroups,
        identity,
        retry,
        database,
        nats,
      ) =>
        createHttpApp({
          auth,
          acceptUpload: accept,
          retryPush: retry,
          results,
          audit,
          clients: registry,
          groups,
          clientAuth:
            c.server.auth || c.server.auth_file
              ? undefined
              : new RevokingCredentialEditor(credentials, sessions),
          // With [api] auth the one user lives in rportd.conf: the users API answers 400 then.
          userAdmin: c.api.auth ? undefined : { users, groups: userGroups },
          identity,
          logger,
          enableTestEndpoints: c.server.enable_ws_test_endpoints,
          health: { nodeId: c.cluster.node_id, database, ...(nats ? { nats } : {}) },
        }),
    );
    provideRecord(bind, T.rportd, {
      db: T.db,
      staging: T.staging,
      apiUsers: T.dbUsers,
      endStranded: T.endStranded,
      offline: T.offline,
      report: T.report,
      retention: T.retention,
      app: T.app,
      auth: T.auth,
      broadcaster: T.broadcaster,
      relay: T.relay,
      natsHealth: T.natsHealth,
      presence: T.presence,
      identity: T.identity,
      credentials: T.credentials,
      transfers: T.transfers,
      channels: T.channels,
      sessions: T.sessions,
    });
  });
}
