/**
 * The information model of the virtual line, as a NodeSet2 document loaded next to the OPC UA standard, DI and
 * AutoID (OPC 30010) nodesets that node-opcua ships: the `{seq, code, ts}` read structure a PLC exposes for a
 * reader, the `{seq, decision, reasonCode}` decision structure the gateway writes back, and a concrete scan event
 * type (AutoID's OpticalScanEventType is abstract) that also carries the PLC's read sequence number.
 */

/** Namespace of the line model's types. */
export const LINE_TYPES_URI = 'urn:scangate:line';
/** AutoID companion specification namespace (OPC 30010). */
export const AUTOID_URI = 'http://opcfoundation.org/UA/AutoID/';

export const LINE_NODESET_XML = `<?xml version="1.0" encoding="utf-8"?>
<UANodeSet xmlns="http://opcfoundation.org/UA/2011/03/UANodeSet.xsd">
  <NamespaceUris>
    <Uri>urn:scangate:line</Uri>
    <Uri>http://opcfoundation.org/UA/AutoID/</Uri>
  </NamespaceUris>
  <Models>
    <Model ModelUri="urn:scangate:line" Version="1.0.0" PublicationDate="2026-01-01T00:00:00Z">
      <RequiredModel ModelUri="http://opcfoundation.org/UA/" Version="1.04" PublicationDate="2019-05-01T00:00:00Z" />
      <RequiredModel ModelUri="http://opcfoundation.org/UA/AutoID/" Version="1.01" PublicationDate="2020-06-18T13:52:03Z" />
    </Model>
  </Models>
  <Aliases>
    <Alias Alias="UInt16">i=5</Alias>
    <Alias Alias="UInt32">i=7</Alias>
    <Alias Alias="String">i=12</Alias>
    <Alias Alias="UtcTime">i=294</Alias>
    <Alias Alias="HasEncoding">i=38</Alias>
    <Alias Alias="HasTypeDefinition">i=40</Alias>
    <Alias Alias="HasSubtype">i=45</Alias>
    <Alias Alias="HasProperty">i=46</Alias>
    <Alias Alias="HasModellingRule">i=37</Alias>
  </Aliases>
  <UADataType NodeId="ns=1;i=3001" BrowseName="1:ScanReadDataType">
    <DisplayName>ScanReadDataType</DisplayName>
    <References>
      <Reference ReferenceType="HasSubtype" IsForward="false">i=22</Reference>
      <Reference ReferenceType="HasEncoding">ns=1;i=5001</Reference>
    </References>
    <Definition Name="1:ScanReadDataType">
      <Field Name="Seq" DataType="UInt32" />
      <Field Name="Code" DataType="String" />
      <Field Name="Ts" DataType="UtcTime" />
    </Definition>
  </UADataType>
  <UAObject NodeId="ns=1;i=5001" BrowseName="Default Binary" SymbolicName="DefaultBinary">
    <DisplayName>Default Binary</DisplayName>
    <References>
      <Reference ReferenceType="HasTypeDefinition">i=76</Reference>
      <Reference ReferenceType="HasEncoding" IsForward="false">ns=1;i=3001</Reference>
    </References>
  </UAObject>
  <UADataType NodeId="ns=1;i=3002" BrowseName="1:DecisionDataType">
    <DisplayName>DecisionDataType</DisplayName>
    <References>
      <Reference ReferenceType="HasSubtype" IsForward="false">i=22</Reference>
      <Reference ReferenceType="HasEncoding">ns=1;i=5002</Reference>
    </References>
    <Definition Name="1:DecisionDataType">
      <Field Name="Seq" DataType="UInt32" />
      <Field Name="Decision" DataType="UInt16" />
      <Field Name="ReasonCode" DataType="UInt16" />
    </Definition>
  </UADataType>
  <UAObject NodeId="ns=1;i=5002" BrowseName="Default Binary" SymbolicName="DefaultBinary">
    <DisplayName>Default Binary</DisplayName>
    <References>
      <Reference ReferenceType="HasTypeDefinition">i=76</Reference>
      <Reference ReferenceType="HasEncoding" IsForward="false">ns=1;i=3002</Reference>
    </References>
  </UAObject>
  <UAObjectType NodeId="ns=1;i=1001" BrowseName="1:LineScanEventType">
    <DisplayName>LineScanEventType</DisplayName>
    <References>
      <Reference ReferenceType="HasSubtype" IsForward="false">ns=2;i=1009</Reference>
      <Reference ReferenceType="HasProperty">ns=1;i=6001</Reference>
    </References>
  </UAObjectType>
  <UAVariable NodeId="ns=1;i=6001" BrowseName="1:Seq" ParentNodeId="ns=1;i=1001" DataType="UInt32">
    <DisplayName>Seq</DisplayName>
    <References>
      <Reference ReferenceType="HasTypeDefinition">i=68</Reference>
      <Reference ReferenceType="HasModellingRule">i=78</Reference>
      <Reference ReferenceType="HasProperty" IsForward="false">ns=1;i=1001</Reference>
    </References>
  </UAVariable>
</UANodeSet>
`;
