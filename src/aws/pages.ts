/**
 * Settings for the SDK's own paginators (`paginateGetRestApis` and friends). The paginators send
 * every page with one shared input object that they change between pages; each page's command gets
 * its own copy here, without the unset fields, so a call counter or a test sees what each page asked.
 */
export function pagesOf<C>(client: C, pageSize?: number) {
  return {
    client,
    ...(pageSize === undefined ? {} : { pageSize }),
    withCommand: (command: { input: object }) => {
      command.input = Object.fromEntries(Object.entries(command.input).filter(([, v]) => v !== undefined));
      return undefined;
    },
  };
}
