// The demo backend's made-up ITSM data: Cockpit tickets and the PCR-360 tables. Nothing is ever stored, so
// these are all a client can read back, and they are what the quick-start and the tests expect to see.

export interface Ticket {
  id: number;
  title: string;
  status: string;
  priority: string;
  team: string;
  requester: string;
  createdAt: string;
  [field: string]: unknown;
}

export const TICKETS: readonly Ticket[] = [
  {
    id: 1001,
    title: 'Printer on 3rd floor offline',
    status: 'open',
    priority: 'medium',
    team: 'Field Support',
    requester: 'j.martin',
    createdAt: '2026-01-05T08:12:00Z',
  },
  {
    id: 1002,
    title: 'VPN drops every 10 minutes',
    status: 'in_progress',
    priority: 'high',
    team: 'Network',
    requester: 'a.dupont',
    createdAt: '2026-01-05T09:40:00Z',
  },
  {
    id: 1003,
    title: 'New laptop for onboarding',
    status: 'pending',
    priority: 'low',
    team: 'Service Desk',
    requester: 'm.nguyen',
    createdAt: '2026-01-06T14:03:00Z',
  },
];
export const NEXT_TICKET_ID = 1004;

export type Row = Record<string, string | number | boolean | null>;

export const SERVICE_DESK_ORDERS: readonly Row[] = [
  { SD_ID: 'SO-1001', TYPE: 'SO', STATUS: 'Open', PRIORITY: 2, SUMMARY: 'Move phone line to room 214', REQUESTER: 'jdoe' },
  { SD_ID: 'SO-1002', TYPE: 'SO', STATUS: 'Pending', PRIORITY: 3, SUMMARY: 'New desk phone for Zürich office', REQUESTER: 'mmüller' },
  { SD_ID: 'SO-1003', TYPE: 'SO', STATUS: 'Closed', PRIORITY: 1, SUMMARY: 'Disconnect fax line', REQUESTER: 'asmith' },
];
const SERVICE_DESK_INCIDENTS: readonly Row[] = [
  { SD_ID: 'IN-2001', TYPE: 'IN', STATUS: 'Open', PRIORITY: 1, SUMMARY: 'No dial tone in building B', REQUESTER: 'kli' },
  { SD_ID: 'IN-2002', TYPE: 'IN', STATUS: 'Resolved', PRIORITY: 2, SUMMARY: 'Voicemail PIN reset', REQUESTER: 'jdoe' },
];
export const PCR_DATA: Readonly<Record<string, readonly Row[]>> = {
  servicedesk: [...SERVICE_DESK_ORDERS, ...SERVICE_DESK_INCIDENTS],
  'servicedesk.SO': SERVICE_DESK_ORDERS,
  'servicedesk.IN': SERVICE_DESK_INCIDENTS,
  services: [
    { SERVICE_ID: 'SVC-3001', CATEGORY: 'Voice', NUMBER: '555-0101', STATUS: 'Active', MONTHLY_COST: 24.5 },
    { SERVICE_ID: 'SVC-3002', CATEGORY: 'Data', NUMBER: null, STATUS: 'Active', MONTHLY_COST: 80 },
    { SERVICE_ID: 'SVC-3003', CATEGORY: 'Voice', NUMBER: '555-0199', STATUS: 'Inactive', MONTHLY_COST: 0 },
  ],
  equipment: [
    { EQUIPMENT_ID: 'EQ-4001', CATEGORY: 'Switch', MODEL: 'Catalyst 9300', LOCATION: 'Zürich – Rack 3', IN_SERVICE: true },
    { EQUIPMENT_ID: 'EQ-4002', CATEGORY: 'Phone', MODEL: 'Yealink T54W', LOCATION: 'Room 214', IN_SERVICE: true },
    { EQUIPMENT_ID: 'EQ-4003', CATEGORY: 'Router', MODEL: 'ISR 4331', LOCATION: 'Spare stock', IN_SERVICE: false },
  ],
  snmp: [
    { DEVICE: 'core-sw-01', OID: '1.3.6.1.2.1.1.3.0', NAME: 'sysUpTime', VALUE: 81234500 },
    { DEVICE: 'core-sw-01', OID: '1.3.6.1.2.1.2.2.1.8.1', NAME: 'ifOperStatus', VALUE: 1 },
    { DEVICE: 'edge-rt-02', OID: '1.3.6.1.2.1.1.5.0', NAME: 'sysName', VALUE: 'edge-rt-02' },
  ],
};
